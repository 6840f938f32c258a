// Tells GOV.UK Frontend's CSS that JavaScript runs (an external file: the CSP allows no inline script).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
