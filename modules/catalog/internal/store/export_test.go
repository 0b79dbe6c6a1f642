package store

// SearchWindow is searchWindow, for the tests of the search's plans.
const SearchWindow = searchWindow
