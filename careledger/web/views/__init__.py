"""Page views, one module per area: home, portfolio, alerts, package, person (and provider, finance, audit).

Views parse the request, call selectors and services with the user's scope (see
:mod:`careledger.web.pages`) and render a template; no business rule lives here.
"""
