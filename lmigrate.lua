-- The demo project's configuration (`make demo` runs it against SQLite).
return {
  url = os.getenv("DATABASE_URL") or "sqlite:demo.db",
  script_location = "versions",
}
