package storefronttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserLimit bounds one walk's browser: the walk takes under a minute
// on a quiet machine, several with many processes on two loaded cores.
const browserLimit = 5 * time.Minute

// Walk runs the shopper's flow through s in a fresh headless chromium,
// with JavaScript or without: home → a department → a facet (the count
// drops, the URL changes) → a price range → a product → the variant of
// s.Variant → add to cart (the badge shows 1) → the cart (quantity 2) →
// register as email → logout → add to a guest cart → login (the guest
// cart merged: 3) → the blog and s.Article → account → logout. Every page
// is screenshot at 1280 and 375 px and checked to be non-blank, to show
// its text and not to scroll sideways at 375 px. The account email must
// be new to the shop; password must pass its policy.
func Walk(t *testing.T, s Shop, js bool, email, password string) {
	t.Helper()
	t.Logf("walking %s (JavaScript %v)", s, js)
	w := &walk{t: t, ctx: Browser(t, js, browserLimit), base: s.URL, dir: ArtifactsDir(t)}
	w.flow(s, js, email, password)
}

// walk is one browser session through the shop.
type walk struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

// do runs actions in the tab, failing the test on an error.
func (w *walk) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, actions...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](w *walk, what string, a chromedp.Action[T]) T {
	w.t.Helper()
	v, err := chromedp.Run(w.ctx, a)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitPath waits until the tab's URL path and query start with prefix and
// the page has loaded.
func (w *walk) waitPath(prefix string) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc := value(w, "location", chromedp.Location())
		if strings.HasPrefix(strings.TrimPrefix(loc, w.base), prefix) &&
			value(w, "ready state", chromedp.Evaluate[string](`document.readyState`)) == "complete" {
			return
		}
		if time.Now().After(deadline) {
			main, _ := chromedp.Run(w.ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body).innerText`))
			w.t.Fatalf("still at %s, want %s…; the page shows:\n%.1500s", loc, prefix, main)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// degradedTries is how often a page that came degraded (a part did not
// answer within its budget: on a loaded machine a live module can be
// that slow) is loaded again before the walk checks it as it is.
const degradedTries = 3

// page checks the page's main text and takes its screenshots.
func (w *walk) page(name string, texts ...string) {
	w.t.Helper()
	w.do(name+": ready", chromedp.WaitReady(chromedp.CSS("main")))
	for try := 1; try < degradedTries; try++ {
		parts := value(w, name+": degraded", chromedp.Evaluate[string](`document.querySelector("main").dataset.degraded || ""`))
		if parts == "" {
			break
		}
		w.t.Logf("%s: came degraded (%s): loading it again", name, parts)
		w.do(name+": reload", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("main")))
	}
	main := value(w, name+": text", chromedp.Text(chromedp.CSS("main")))
	for _, s := range texts {
		if !strings.Contains(main, s) {
			w.t.Fatalf("%s: the page does not show %q:\n%.1500s", name, s, main)
		}
	}
	w.n++
	for _, width := range []int64{1280, 375} {
		view := chromedp.EmulateViewport(width, 900)
		if width < 500 {
			view = chromedp.EmulateViewport(width, 800, chromedp.EmulateMobile)
		}
		w.do(name+": resize", view, chromedp.Sleep(100*time.Millisecond))
		if value(w, name+": overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
			w.t.Errorf("%s at %d px: the page scrolls sideways", name, width)
		}
		shot := value(w, name+": screenshot", chromedp.FullScreenshot(100))
		file := filepath.Join(w.dir, fmt.Sprintf("%02d-%s-%d.png", w.n, name, width))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			w.t.Fatal(err)
		}
		if colours := distinctColours(w.t, shot); colours < 50 {
			w.t.Errorf("%s at %d px: the screenshot looks blank (%d colours): %s", name, width, colours, file)
		}
	}
	w.do(name+": back to desktop", chromedp.EmulateViewport(1280, 900))
}

// waitText waits until the element sel shows text.
func (w *walk) waitText(sel, text string) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := value(w, sel, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
		if strings.TrimSpace(got) == text {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s shows %q, want %q", sel, got, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *walk) flow(s Shop, js bool, email, password string) {
	t := w.t
	p, v, dept := s.Product, s.Variant, s.Department

	w.do("home", chromedp.Navigate(w.base+"/"))
	w.page("home", "New arrivals", "Departments")

	w.do("open a department", chromedp.Click(chromedp.CSS(`a.tile[href="/`+dept+`"]`)))
	w.waitPath("/" + dept)
	w.page("category", "products", "Apply filters")
	w.filterCategory("/"+dept, js)
	w.do("back to the department", chromedp.Navigate(w.base+"/"+dept))
	w.waitPath("/" + dept)

	w.do("open a product", chromedp.Click(chromedp.CSS(`ul.grid a.card-link`)))
	w.waitPath("/p/")
	w.page("product", "Add to cart", "SKU")

	// The variant: pick its option values. Without JavaScript the button
	// submits the form; with it, a select changed with the pointer
	// submits it (chromedp's SetValue fires change, after a pointerdown
	// here), so the other groups are set first without events and the
	// last one is changed as a shopper with a mouse would.
	w.do("product with variants", chromedp.Navigate(w.base+"/p/"+p.Slug))
	w.waitPath("/p/" + p.Slug)
	last := len(v.Options) - 1
	for i, o := range v.Options {
		if js && i < last {
			value(w, "preset "+o.GroupCode, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).value = %q`, "opt-"+o.GroupCode, o.ValueCode)))
			continue
		}
		if js {
			value(w, "pointer on "+o.GroupCode, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%q).dispatchEvent(new PointerEvent("pointerdown", {bubbles: true}))`, "opt-"+o.GroupCode)))
		}
		w.do("choose "+o.GroupCode, chromedp.SetValue(chromedp.ID("opt-"+o.GroupCode), o.ValueCode))
	}
	if !js {
		w.do("choose variant", chromedp.Click(chromedp.ID("choose-variant")))
	}
	w.waitPath("/p/" + p.Slug + "?")
	if sku := value(w, "sku", chromedp.Text(chromedp.ID("sku"))); sku != v.SKU {
		t.Fatalf("variant picker shows SKU %q, want %q", sku, v.SKU)
	}
	w.page("variant", v.SKU)

	variantURL := strings.TrimPrefix(value(w, "location", chromedp.Location()), w.base)

	// Add to cart: with JavaScript the badge changes without a reload;
	// without, the form posts and the cart page says so.
	w.do("add to cart", chromedp.Click(chromedp.ID("add-to-cart")))
	if js {
		w.waitText("[data-cart-count]", "1")
		w.waitText("[data-add-status]", "Added to your cart.")
		if loc := value(w, "location", chromedp.Location()); !strings.HasSuffix(loc, variantURL) {
			t.Fatalf("the add reloaded the page: at %s", loc)
		}
		w.page("added-js", v.SKU, "Added to your cart.")
		w.do("cart link", chromedp.Click(chromedp.CSS(`header a.cart-link`)))
		w.waitPath("/cart")
	} else {
		w.waitPath("/cart?done=added")
		w.waitText("[data-cart-count]", "1")
		w.page("added-nojs", "Added to your cart.")
	}
	w.page("cart", "Your cart", p.Name, "Subtotal")
	qty := "qty-" + value(w, "line id", chromedp.Evaluate[string](`document.querySelector(".cart-line").id.slice(5)`))
	w.do("change the quantity",
		chromedp.SetValue(chromedp.ID(qty), "2"),
		chromedp.Click(chromedp.CSS(`.qty-form button`)))
	w.waitPath("/cart?done=updated")
	w.waitText("[data-cart-count]", "2")
	w.page("cart-updated", "Your cart was updated.")

	w.do("register link", chromedp.Click(chromedp.CSS(`header a[href="/account/register"]`)))
	w.waitPath("/account/register")
	w.page("register", "Create an account")
	w.do("register",
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-display_name"), "Walker"),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.ID("register-submit")))
	w.waitPath("/account?done=registered")
	w.page("account-new", "Welcome! Your account is ready.", email, "Active sessions")
	w.waitText("[data-cart-count]", "2") // the guest cart became the account's

	w.do("logout", chromedp.Click(chromedp.ID("logout")))
	w.waitPath("/?done=signed-out")
	w.waitText("[data-cart-count]", "0")
	w.page("logged-out", "You are signed out.")

	// A guest cart again, merged at login.
	w.do("back to the product", chromedp.Navigate(w.base+variantURL))
	w.waitPath(variantURL)
	w.do("add as a guest", chromedp.Click(chromedp.ID("add-to-cart")))
	if !js {
		w.waitPath("/cart?done=added")
	}
	w.waitText("[data-cart-count]", "1")
	w.do("sign-in link", chromedp.Click(chromedp.CSS(`header a.account-link`)))
	w.waitPath("/account/login")
	w.page("login", "Sign in", "Forgot your password?")
	w.do("login",
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.ID("login-submit")))
	if js {
		w.waitPath(variantURL) // back where the sign-in link was followed
	} else {
		w.waitPath("/cart?done=added")
	}
	w.waitText("[data-cart-count]", "3") // 2 in the account's cart + 1 from the guest's
	w.do("cart after login", chromedp.Click(chromedp.CSS(`header a.cart-link`)))
	w.waitPath("/cart")
	w.page("cart-merged", p.Name, "Subtotal")
	if q := value(w, "merged quantity", chromedp.Evaluate[string](`document.querySelector(".qty-form input").value`)); q != "3" {
		t.Fatalf("merged cart line quantity %s, want 3", q)
	}

	w.do("blog", chromedp.Navigate(w.base+"/blog"))
	w.waitPath("/blog")
	w.page("blog", "Journal", s.Article.Title, "Topics")
	w.do("open the article", chromedp.Click(chromedp.CSS(`.article-card h2 a`)))
	w.waitPath("/blog/" + s.Article.Slug)
	w.page("article", s.Article.Texts...)

	w.do("account link", chromedp.Click(chromedp.CSS(`header a.account-link`)))
	w.waitPath("/account")
	w.page("account", email, "this device", "Change password")

	w.do("logout again", chromedp.Click(chromedp.ID("logout")))
	w.waitPath("/?done=signed-out")
	w.page("logged-out-again", "You are signed out.")
}

// total is the listing's result count.
func (w *walk) total() int {
	w.t.Helper()
	return value(w, "result count", chromedp.Evaluate[int](`+document.getElementById("result-count").dataset.total`))
}

// filterCategory picks the first brand on the category page at path (with
// JavaScript the checkbox submits itself; without, Apply filters does):
// the URL gets f.brand and the total drops to that value's count. Then a
// price range typed in major units becomes price=lo-hi in the URL.
func (w *walk) filterCategory(path string, js bool) {
	t := w.t
	before := w.total()
	box := `fieldset[data-facet="brand"] input[type=checkbox]:not(:checked)`
	brand := value(w, "a brand", chromedp.Evaluate[string](`document.querySelector('`+box+`').value`))
	count := value(w, "its count", chromedp.Evaluate[int](`+document.querySelector('`+box+`').parentElement.querySelector("[data-count]").dataset.count`))
	w.do("pick "+brand, chromedp.Click(chromedp.CSS(box)))
	if !js {
		w.do("apply the facet", chromedp.Click(chromedp.CSS(`form[data-filters] button[type=submit]`)))
	}
	w.waitPath(path + "?f.brand=" + brand)
	if after := w.total(); after != count || after >= before {
		t.Fatalf("brand %s: %d products, want its count %d, fewer than %d", brand, after, count, before)
	}
	w.page("category-facet", "Brand: ", "Apply filters")

	w.do("price range",
		chromedp.SetValue(chromedp.ID("price-min"), "1"),
		chromedp.SetValue(chromedp.ID("price-max"), "100"),
		chromedp.Click(chromedp.CSS(`form[data-filters] button[type=submit]`)))
	w.waitPath(path + "?f.brand=" + brand + "&price=100-10000")
	if after := w.total(); after > count {
		t.Fatalf("brand %s, price 1-100: %d products, more than %d", brand, after, count)
	}
	w.page("category-price", "Price: 1 to 100")
}
