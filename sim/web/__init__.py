"""The planners' web page: ``approval-sim web`` (Streamlit, the ``web`` extra).

:mod:`sim.web.page` holds the page's logic without the framework,
:mod:`sim.web.jobs` the background comparisons, and ``app.py`` the layout.
"""
