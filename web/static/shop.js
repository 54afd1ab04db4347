// Progressive enhancement only: every form works without this file.
// With it, selects marked data-autosubmit (the variant picker, the sort)
// submit their GET form on change, and their "apply" buttons hide.
document.documentElement.classList.add("js");
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) {
    el.form.submit();
  }
});
