// When the server-side session ends (signed out elsewhere, idle or absolute timeout), Dash
// callbacks answer 401 with no data. Send the person to sign-in rather than leave a dead page.
(function () {
  const originalFetch = window.fetch;
  let redirecting = false;
  window.fetch = function (resource, init) {
    return originalFetch.call(this, resource, init).then(function (response) {
      const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1 && !redirecting) {
        redirecting = true;
        const here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
