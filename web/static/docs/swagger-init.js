// Starts Swagger UI on /schema/swagger (src/careclub/web/docs.py): the OpenAPI document is loaded
// from the URL in data-spec-url, never embedded in the page (the pages' CSP allows no inline script).
(function () {
  "use strict";
  var root = document.getElementById("swagger-container");
  if (!root || !window.SwaggerUIBundle) { return; }
  var cookieName = root.getAttribute("data-csrf-cookie");
  var headerName = root.getAttribute("data-csrf-header");

  function csrfToken() {
    if (!cookieName) { return undefined; }
    var row = document.cookie.split("; ").find(function (r) { return r.indexOf(cookieName + "=") === 0; });
    return row ? row.slice(cookieName.length + 1) : undefined;
  }

  var ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-container",
    deepLinking: true,
    // The online validator badge would send the schema's address to validator.swagger.io.
    validatorUrl: null,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: function (request) {
      var token = csrfToken();
      if (headerName && token !== undefined) { request.headers[headerName] = token; }
      return request;
    }
  });
  ui.initOAuth({});
  window.ui = ui;
})();
