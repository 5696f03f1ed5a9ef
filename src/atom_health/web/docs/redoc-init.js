// ReDoc for atom-health's OpenAPI document; served from the package, no CDN.
"use strict";
window.addEventListener("load", () => {
  Redoc.init(new URL("openapi.json", document.baseURI).href, {}, document.getElementById("redoc"));
});
