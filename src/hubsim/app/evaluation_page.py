"""The *Evaluation* page (a Streamlit page script; the code lives in :mod:`hubsim.app.evaluation`)."""

from hubsim.app.evaluation import render

render()
