"""Collection rules for the whole tree (the doctests of src/hubsim included).

The app's Streamlit scripts run a page when imported, so doctest collection skips them;
without the app extra (CI's runtime-only legs) the whole app package is skipped.
"""

import importlib.util

collect_ignore_glob = ["src/hubsim/app/main.py", "src/hubsim/app/*_page.py"]
if importlib.util.find_spec("streamlit") is None:
    collect_ignore_glob.append("src/hubsim/app/*.py")
