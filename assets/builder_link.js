// The builder's address bar never carries a share link for a cohort other than the one on the
// page: once the page says the cohort left the link's (#builder-address gets the class
// builder-link-left, set by the builder's leave_link callback), drop ?c=&snapshot= from the
// address in place. A reload then keeps the edits; opening the link again opens its cohort.
(function () {
  function dropLink() {
    if (!document.querySelector(".builder-link-left")) {
      return;
    }
    const query = new URLSearchParams(window.location.search);
    if (!query.has("c")) {
      return;
    }
    query.delete("c");
    query.delete("snapshot");
    const rest = query.toString();
    window.history.replaceState(window.history.state, "",
      window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
  }
  new MutationObserver(dropLink).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["class"],
  });
})();
