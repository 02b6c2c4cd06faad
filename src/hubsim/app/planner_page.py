"""The *Plan a hub* page (a Streamlit page script; the code lives in :mod:`hubsim.app.planner`)."""

from hubsim.app.planner import render

render()
