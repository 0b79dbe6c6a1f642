package database

import "gorm.io/gorm"

// Trips returns how many round trips tx, a transaction of InTx, has taken so
// far (the BEGIN travels with the first statement).
func Trips(tx *gorm.DB) int {
	t, _ := txOf(tx)
	return t.trips
}
