// Progressive enhancement only: every form works without this file.
// With it, a select marked data-autosubmit (the variant picker, the sort)
// submits its GET form when it is changed with a pointer. Changes from
// the keyboard do not submit (arrow keys change a closed select one value
// at a time, and a reload at each would make it unusable): keyboard users
// submit with the form's button, which stays visible.
document.documentElement.classList.add("js");
document.addEventListener("pointerdown", function (e) {
  var el = e.target && e.target.closest && e.target.closest("select[data-autosubmit]");
  if (el) el.dataset.pointer = "1";
});
document.addEventListener("keydown", function (e) {
  var el = e.target;
  if (el && el.matches && el.matches("select[data-autosubmit]")) delete el.dataset.pointer;
});
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form && el.dataset.pointer) {
    el.form.submit();
  }
  // A facet checkbox submits its GET form at once: a checkbox changes by
  // one value per press, so (unlike a select) a reload is what the press
  // means, from the keyboard too. The form's Apply button stays for no-JS.
  if (el && el.matches && el.matches("input[type=checkbox][data-autosubmit]") && el.form) {
    el.form.submit();
  }
});

// Add to cart without a reload: the form is posted with fetch, asking for
// JSON (the server then answers the count instead of a redirect), and the
// header badge and a status line are updated. Anything unexpected (no
// fetch, a network error, no badge to update) submits the form as it is,
// so the flow is the same as without JavaScript.
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (!form.matches || !form.matches("form[data-add-to-cart]") || !window.fetch || !window.URLSearchParams) return;
  var badge = document.querySelector("[data-cart-count]");
  if (!badge) return;
  e.preventDefault();
  var status = form.querySelector("[data-add-status]");
  var button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  fetch(form.action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(new FormData(form)).toString()
  }).then(function (resp) {
    return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
  }).then(function (res) {
    if (button) button.disabled = false;
    if (res.ok) {
      badge.textContent = res.body.item_count;
      badge.closest("a").setAttribute("aria-label", "Cart: " + res.body.item_count + " items");
      if (status) status.textContent = "Added to your cart.";
    } else if (status) {
      status.textContent = (res.body.error && res.body.error.message) || "Could not add to the cart.";
    }
  }).catch(function () {
    form.submit();
  });
});
