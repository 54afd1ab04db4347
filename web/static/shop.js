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
});
