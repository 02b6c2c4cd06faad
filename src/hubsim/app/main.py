"""Streamlit entry point of the planner app (``hubsim app`` runs ``streamlit run`` on it)."""

import streamlit as st

st.set_page_config(page_title="hubsim planner", layout="wide")
pages = st.navigation(
    [
        st.Page("planner_page.py", title="Plan a hub", icon=":material/groups:", default=True),
        st.Page("evaluation_page.py", title="Evaluation", icon=":material/query_stats:"),
    ]
)
pages.run()
