package seeder

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
)

// The demo logins. They are public by design — the summary prints them —
// and the same for every --seed, so that a demo's instructions never
// change; each passes auth's password policy (zxcvbn score 2 or more).
// `shop serve --demo` signs its visitors in with DemoEmail.
const (
	DemoEmail    = "demo@example.com"
	DemoPassword = "plum-kettle-orbit-42"
)

// userPlan is one sample account.
type userPlan struct {
	Email, Password, Name string
	Role                  contract.Role
}

var sampleUsers = []userPlan{
	{Email: "admin@example.com", Password: "quartz-lantern-meadow-17", Name: "Demo Admin", Role: contract.RoleAdmin},
	{Email: DemoEmail, Password: DemoPassword, Name: "Demo Customer", Role: contract.RoleCustomer},
	{Email: "ada@example.com", Password: "copper-violin-harbor-58", Name: "Ada Lovelace", Role: contract.RoleCustomer},
	{Email: "grace@example.com", Password: "saffron-tunnel-pixel-63", Name: "Grace Hopper", Role: contract.RoleCustomer},
}

// Login is a sample account as the summary prints it. Password is the
// one the seeder created the account with: an account that existed
// already keeps whatever password it has now.
type Login struct {
	Email, Password string
	Role            contract.Role
	Created         bool
}

// seedUsers creates the sample accounts that do not exist (found by
// email: auth has no lookup by email, so it lists the users once) and
// records every sample user for the carts.
func (m *Module) seedUsers(ctx context.Context, cat *catalogue, p Progress, sum *Summary) error {
	p.Start("users", len(sampleUsers))
	defer p.End()
	byEmail, err := m.users(ctx)
	if err != nil {
		return err
	}
	for _, u := range sampleUsers {
		got, ok := byEmail[u.Email]
		if ok {
			sum.Users.Existing++
		} else {
			got, err = call(ctx, m.bus, contract.CreateUser, contract.CreateUserRequest{Email: u.Email, Password: u.Password, Name: u.Name, Role: u.Role})
			if err != nil {
				return fmt.Errorf("user %s: %w", u.Email, err)
			}
			sum.Users.Created++
		}
		sum.Logins = append(sum.Logins, Login{Email: got.Email, Password: u.Password, Role: got.Role, Created: !ok})
		cat.users = append(cat.users, got)
		p.Add(1)
	}
	return nil
}

// users returns every account by email.
func (m *Module) users(ctx context.Context) (map[string]contract.User, error) {
	byEmail := map[string]contract.User{}
	for cursor := ""; ; {
		page, err := call(ctx, m.bus, contract.ListUsers, contract.ListUsersRequest{Cursor: cursor, Limit: contract.MaxUserPage})
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		for _, u := range page.Items {
			byEmail[u.Email] = u
		}
		if cursor = page.NextCursor; cursor == "" {
			return byEmail, nil
		}
	}
}

// sampleCustomers returns the sample customers that exist.
func (m *Module) sampleCustomers(ctx context.Context) ([]contract.User, error) {
	byEmail, err := m.users(ctx)
	if err != nil {
		return nil, err
	}
	var out []contract.User
	for _, u := range sampleUsers {
		if got, ok := byEmail[u.Email]; ok && got.Role == contract.RoleCustomer {
			out = append(out, got)
		}
	}
	return out, nil
}

// seederSessions names the session of the principal the seeder acts as
// for a user (carts are the user's, taken from the caller principal): the
// seeder is a trusted machine and signs nobody in, so the id is derived
// from the user's rather than issued by auth.
var seederSessions = uuid.MustParse("5eed5eed-0000-4000-8000-000000000000")

// asUser returns ctx acting for u.
func asUser(ctx context.Context, u contract.User) context.Context {
	return withCaller(ctx, contract.Principal{UserID: u.ID, Role: u.Role, SessionID: uuid.NewSHA1(seederSessions, []byte(u.ID)).String()})
}
