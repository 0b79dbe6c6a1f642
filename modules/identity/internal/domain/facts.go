package domain

import "time"

// UserRegistered is the fact that an account was created. The service hands
// it to the repository with the user; the store publishes it in the
// transaction of the insert, converted by the module's root package into
// its public event (this package cannot name that event: the root imports
// internal, never the reverse).
type UserRegistered struct{ User User }

// RegistrationRepeated is the fact that someone signed up with the email of
// an existing account, User. The sign-up's answer does not tell (it would
// reveal which addresses have accounts); the owner is told instead.
type RegistrationRepeated struct {
	User User
	At   time.Time
}
