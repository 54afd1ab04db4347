//go:build !race

package product

const race = false
