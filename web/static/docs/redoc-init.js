// Starts ReDoc on /schema/redoc (src/careclub/web/docs.py): the OpenAPI document is loaded from
// the URL in data-spec-url, never embedded in the page (the pages' CSP allows no inline script).
(function () {
  "use strict";
  var root = document.getElementById("redoc-container");
  if (!root || !window.Redoc) { return; }

  // ReDoc's sidebar shows Redocly's logo from their CDN; the page loads nothing from outside (and
  // its CSP would refuse it), so that one image gets no source: it fails quietly and ReDoc hides it.
  var OUTSIDE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, name === "src" && value === OUTSIDE_LOGO ? "" : value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true, enumerable: src.enumerable, get: src.get,
    set: function (value) { src.set.call(this, value === OUTSIDE_LOGO ? "" : value); }
  });

  window.Redoc.init(root.getAttribute("data-spec-url"), {
    // ReDoc draws its styles at run time: its <style> elements carry the nonce this page's CSP names.
    nonce: root.getAttribute("data-style-nonce") || undefined,
    // Search runs in a worker made from a blob: URL, a script source the CSP does not allow.
    disableSearch: true
  }, root);
})();
