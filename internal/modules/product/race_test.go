//go:build race

package product

// race is true when the tests run under the race detector.
const race = true
