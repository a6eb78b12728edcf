# Shared by the tests with CA keys on a PKCS#11 token (hsm_chain.sh,
# kill_hsm_build.sh), after lib.sh: SoftHSM2's module (exit 1 when it is not
# installed: tools/setup.sh --test installs it) and token folders of the
# test's own.
module=${CS_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if ! command -v softhsm2-util >/dev/null || [ ! -e "$module" ]; then
    echo "softhsm2 is not installed: run tools/setup.sh --test" >&2
    exit 1
fi
export CHAINSMITH_PKCS11_MODULE=$module

# token_home DIR: a SoftHSM2 configuration and token folder in DIR.
token_home() {
    mkdir -p "$1/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$1" >"$1/softhsm2.conf"
}

# ca_token DIR: a token labelled ca in its own folder DIR, used from now on
# (SOFTHSM2_CONF), its PIN 1234 in CS_PIN.
ca_token() {
    token_home "$1"
    export SOFTHSM2_CONF=$1/softhsm2.conf
    check "softhsm2-util makes a token" softhsm2-util --init-token --free --label ca \
        --pin 1234 --so-pin 5678
    export CS_PIN=1234
}
