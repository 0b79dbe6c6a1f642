package domain

// UserRegistered is the fact that an account was created. The service hands
// it to the repository with the user; the store publishes it in the
// transaction of the insert, converted by the module's root package into
// its public event (this package cannot name that event: the root imports
// internal, never the reverse).
type UserRegistered struct{ User User }
