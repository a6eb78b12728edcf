std = "lua54"
max_line_length = 100
-- Test scripts print their tallies; nothing else is global.
files["tests/lua/"] = { std = "lua54" }
exclude_files = { "build*/", ".cache/" }
