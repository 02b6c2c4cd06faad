"""Streamlit entry point of the planner app (``hubsim app`` runs ``streamlit run`` on it)."""

import multiprocessing
import os

import streamlit as st

from hubsim.app import TMP_ENV

if os.environ.get(TMP_ENV) and multiprocessing.get_start_method(allow_none=True) is None:
    # worker processes start from a clean server process, not by forking the threaded
    # Streamlit server (forking a process with threads can deadlock)
    multiprocessing.set_start_method("forkserver")
    multiprocessing.set_forkserver_preload(["hubsim.des.simulate"])

st.set_page_config(page_title="hubsim planner", layout="wide")
pages = st.navigation(
    [
        st.Page("planner_page.py", title="Plan a hub", icon=":material/groups:", default=True),
        st.Page("evaluation_page.py", title="Evaluation", icon=":material/query_stats:"),
    ]
)
pages.run()
