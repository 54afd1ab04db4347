package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// doneNotices are the messages a redirect after a successful post asks
// for (?done=<code>): fixed texts, so that no query can put words on the
// page.
var doneNotices = map[string]string{
	"registered":  "Welcome! Your account is ready.",
	"signed-in":   "You are signed in.",
	"signed-out":  "You are signed out.",
	"profile":     "Your name was saved.",
	"password":    "Your password was changed; your other sessions were signed out.",
	"revoked":     "The session was signed out.",
	"revoked-all": "Your other sessions were signed out.",
	"reset-sent":  "If this address has an account, a mail with a reset link is on its way.",
	"reset-done":  "Your password was reset. Sign in with the new one.",
	"cart-capped": "You are signed in, and the cart from before is in your account's cart; some quantities were lowered to what is available.",
	"added":       "Added to your cart.",
	"updated":     "Your cart was updated.",
	"removed":     "The item was removed from your cart.",
}

// accountForm is the page of one account form (login, register, reset).
type accountForm struct {
	Form form
	Next string // where a login goes afterwards
	// Token is the password-reset token of a confirm form.
	Token string
}

// accountView is the account page.
type accountView struct {
	User     contract.User
	Sessions []contract.Session
	Profile  form
	Password form
}

// accountRoutes mounts /account: sign-in pages for anyone, the account
// page and its forms for signed-in users.
func (m *Module) accountRoutes(r chi.Router) {
	r.Route("/account", func(a chi.Router) {
		a.Get("/login", m.formPage("login", "Sign in", "email"))
		a.Post("/login", m.loginPost)
		a.Get("/register", m.formPage("register", "Create an account", "email", "display_name"))
		a.Post("/register", m.registerPost)
		a.Post("/logout", m.logoutPost)
		a.Get("/password-reset", m.resetPage)
		a.Post("/password-reset", m.resetRequestPost)
		a.Post("/password-reset/confirm", m.resetConfirmPost)
		a.Group(func(u chi.Router) {
			u.Use(m.requireShopper)
			u.Get("/", m.accountPage)
			u.Post("/profile", m.profilePost)
			u.Post("/password", m.passwordPost)
			u.Post("/sessions/{id}/revoke", m.revokePost)
			u.Post("/sessions/revoke-others", m.revokeOthersPost)
		})
	})
}

// requireShopper sends anonymous visitors to the login page, coming back
// here afterwards; an auth module that did not answer is a 503 page.
func (m *Module) requireShopper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		switch {
		case c.err != nil:
			m.pageError(w, r, c.err)
		case !c.p.IsUser():
			seeOther(w, r, withQuery("/account/login", "next", "/account"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// withDone adds the notice a redirect asked for.
func withDone(v *view, r *http.Request) {
	if t, ok := doneNotices[r.URL.Query().Get("done")]; ok {
		v.Notices = append(v.Notices, notice{Kind: "success", Text: t})
	}
}

// formPage renders an empty account form (login, register), prefilled
// from the query's keep fields (a login link may carry the email).
func (m *Module) formPage(name, title string, keep ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.showForm(w, r, http.StatusOK, name, title, accountForm{Form: newForm(r.URL.Query(), keep...), Next: localPath(r.URL.Query().Get("next"), "")})
	}
}

// showForm renders an account form page (the header's parts gathered).
func (m *Module) showForm(w http.ResponseWriter, r *http.Request, status int, name, title string, af accountForm) {
	g := m.gather(r)
	v := m.layout(g, r)
	v.Page = af
	v.Meta = PageMeta{Title: title, Robots: "noindex"}
	w.Header().Set("Cache-Control", "no-store")
	m.finishStatus(w, r, g, v, status, name)
}

func (m *Module) loginPost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	af := accountForm{Form: newForm(values, "email"), Next: localPath(values.Get("next"), "")}
	g, capped, err := m.startSession(w, r, false, values.Get("email"), values.Get("password"), "")
	if err != nil {
		status := af.Form.fail(w, err, "email", "password")
		m.showForm(w, r, status, "login", "Sign in", af)
		return
	}
	m.setSessionCookie(w, r, g)
	if capped {
		// The cart shows which lines were capped (their notices).
		seeOther(w, r, "/cart?done=cart-capped")
		return
	}
	seeOther(w, r, localPath(af.Next, "/account?done=signed-in"))
}

func (m *Module) registerPost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	af := accountForm{Form: newForm(values, "email", "display_name")}
	g, _, err := m.startSession(w, r, true, values.Get("email"), values.Get("password"), values.Get("display_name"))
	if err != nil {
		status := af.Form.fail(w, err, "email", "password", "display_name")
		m.showForm(w, r, status, "register", "Create an account", af)
		return
	}
	m.setSessionCookie(w, r, g)
	seeOther(w, r, "/account?done=registered")
}

// logoutPost signs out; without a session it is already done.
func (m *Module) logoutPost(w http.ResponseWriter, r *http.Request) {
	if callerOf(r.Context()).p.IsUser() {
		if err := m.endSession(w, r); err != nil {
			m.pageError(w, r, err)
			return
		}
	}
	seeOther(w, r, "/?done=signed-out")
}

// accountPage shows the profile, the password form and the sessions.
func (m *Module) accountPage(w http.ResponseWriter, r *http.Request) {
	m.showAccount(w, r, http.StatusOK, func(*accountView) {})
}

// showAccount renders the account page with status; set puts a failed
// form's errors and values in (a GET sets nothing).
func (m *Module) showAccount(w http.ResponseWriter, r *http.Request, status int, set func(av *accountView)) {
	g := m.gather(r)
	v := m.layout(g, r)
	av := &accountView{Profile: newForm(nil), Password: newForm(nil)}
	set(av)
	v.Page = av
	v.Meta = PageMeta{Title: "Your account", Robots: "noindex"}
	g.Required("me", func(r *http.Request) (err error) {
		av.User, err = call(m, r, contract.GetMe, contract.Empty{})
		return err
	})
	g.Required("sessions", func(r *http.Request) error {
		page, err := call(m, r, contract.ListSessions, contract.Empty{})
		av.Sessions = page.Items
		return err
	})
	w.Header().Set("Cache-Control", "no-store")
	m.finishStatus(w, r, g, v, status, "account")
}

func (m *Module) profilePost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	if _, err := call(m, r, contract.ChangeName, contract.ChangeNameRequest{Name: values.Get("display_name")}); err != nil {
		f := newForm(values, "display_name")
		status := f.fail(w, err, "display_name")
		m.showAccount(w, r, status, func(av *accountView) { av.Profile = f })
		return
	}
	seeOther(w, r, "/account?done=profile")
}

func (m *Module) passwordPost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	req := contract.ChangePasswordRequest{CurrentPassword: values.Get("current_password"), NewPassword: values.Get("new_password")}
	if _, err := call(m, r, contract.ChangePassword, req); err != nil {
		f := newForm(values)
		status := f.fail(w, err, "current_password", "new_password")
		m.showAccount(w, r, status, func(av *accountView) { av.Password = f })
		return
	}
	seeOther(w, r, "/account?done=password")
}

// revokePost signs one session out; the current one is a logout.
func (m *Module) revokePost(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	c := callerOf(r.Context())
	if id == c.p.SessionID {
		m.logoutPost(w, r)
		return
	}
	if _, err := call(m, r, contract.RevokeSession, contract.SessionID{ID: id}); err != nil {
		m.pageError(w, r, err)
		return
	}
	seeOther(w, r, "/account?done=revoked")
}

func (m *Module) revokeOthersPost(w http.ResponseWriter, r *http.Request) {
	if _, err := call(m, r, contract.RevokeOtherSessions, contract.Empty{}); err != nil {
		m.pageError(w, r, err)
		return
	}
	seeOther(w, r, "/account?done=revoked-all")
}

// resetPage is the password reset: the request form, or, with the mailed
// ?token=, the form that sets the new password.
func (m *Module) resetPage(w http.ResponseWriter, r *http.Request) {
	if token := r.URL.Query().Get("token"); token != "" {
		m.showForm(w, r, http.StatusOK, "reset_confirm", "Choose a new password", accountForm{Form: newForm(nil), Token: token})
		return
	}
	m.showForm(w, r, http.StatusOK, "reset_request", "Reset your password", accountForm{Form: newForm(r.URL.Query(), "email")})
}

func (m *Module) resetRequestPost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	if _, err := call(m, r, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: values.Get("email"), Client: m.clientOf(r)}); err != nil {
		af := accountForm{Form: newForm(values, "email")}
		status := af.Form.fail(w, err, "email")
		m.showForm(w, r, status, "reset_request", "Reset your password", af)
		return
	}
	seeOther(w, r, "/account/password-reset?done=reset-sent")
}

func (m *Module) resetConfirmPost(w http.ResponseWriter, r *http.Request) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	token := values.Get("token")
	if _, err := call(m, r, contract.ConfirmPasswordReset, contract.ConfirmPasswordResetRequest{Token: token, NewPassword: values.Get("new_password")}); err != nil {
		af := accountForm{Form: newForm(nil), Token: token}
		status := af.Form.fail(w, err, "new_password", "token")
		m.showForm(w, r, status, "reset_confirm", "Choose a new password", af)
		return
	}
	seeOther(w, r, "/account/login?done=reset-done")
}
