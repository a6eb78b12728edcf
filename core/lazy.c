/* Opening the libraries of core/lazy.h on first use (dlopen, dlsym). */
#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RTLD_LOCAL: the library's symbols stay out of the global scope, as they
 * would for a DT_NEEDED of a module Lua loaded RTLD_LOCAL. RTLD_NOW: a
 * missing symbol is found here, once, not in the middle of a request. */
void cs_lazy_open(cs_lazy_lib *lib)
{
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib->why, sizeof lib->why, "%s", dlerror());
        return;
    }
    for (size_t i = 0; i < lib->n; i++) {
        void *sym = dlsym(handle, lib->names[i]);
        if (!sym) {
            snprintf(lib->why, sizeof lib->why, "%s: no function %s", lib->soname,
                     lib->names[i]);
            dlclose(handle);
            return;
        }
        /* POSIX guarantees that dlsym's object pointer converts to a function pointer. */
        lib->fns[i] = (cs_lazy_fn)sym;
    }
    lib->ok = 1; /* never closed: the stubs may be called until the process ends */
}

cs_code cs_lazy_load(cs_lazy_lib *lib, cs_err *err)
{
    pthread_once(&lib->once, lib->open_once);
    if (!lib->ok)
        return cs_err_set(err, CS_EUNSUPPORTED, "%s could not be opened: %s", lib->soname,
                          lib->why);
    return CS_OK;
}

cs_lazy_fn cs_lazy_fn_at(cs_lazy_lib *lib, size_t i)
{
    pthread_once(&lib->once, lib->open_once);
    if (!lib->ok) {
        fprintf(stderr, "chainsmith: %s could not be opened (%s); needed for %s\n", lib->soname,
                lib->why, lib->names[i]);
        abort();
    }
    return lib->fns[i];
}
