-- The issuing CA: signed by the root, may sign leaves only (pathLen 0).
return {
    description = "Intermediate CA under the root, P-384, 5 years, pathLen 0",
    issuer = "root",
    key = { type = "ec", curve = "P-384" },
    validity_days = 1825,
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "OU", "XYZ" },
        { "CN", "Simple Intermediate CA" },
    },
    basic_constraints = { critical = true, ca = true, path_len = 0 },
    key_usage = { critical = true, "keyCertSign", "cRLSign" },
    subject_key_id = true,
    authority_key_id = true,
}
