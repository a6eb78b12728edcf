/* jansson, opened on the first JSON document (core/lazy.h says why). */
#include <stdarg.h>

#include <jansson.h>

#include "lazy.h"

/* Every jansson function core/ calls, and the va_list forms that json_pack
 * and json_unpack_ex forward to (as jansson's own do). */
#define JANSSON_FUNCTIONS(X, V, H)                                                                \
    X(json_t *, json_array, (void), ())                                                        \
    X(int, json_array_append_new, (json_t * array, json_t * value), (array, value))            \
    X(json_t *, json_array_get, (const json_t *array, size_t i), (array, i))                   \
    X(size_t, json_array_size, (const json_t *array), (array))                                 \
    V(json_delete, (json_t * json), (json))                                                    \
    X(char *, json_dumps, (const json_t *json, size_t flags), (json, flags))                   \
    X(json_t *, json_integer, (json_int_t value), (value))                                     \
    X(json_t *, json_loadb, (const char *buf, size_t len, size_t flags, json_error_t *error),   \
      (buf, len, flags, error))                                                                \
    X(json_t *, json_loads, (const char *input, size_t flags, json_error_t *error),            \
      (input, flags, error))                                                                   \
    X(json_t *, json_null, (void), ())                                                         \
    X(json_t *, json_object_get, (const json_t *object, const char *key), (object, key))       \
    X(int, json_object_set_new, (json_t * object, const char *key, json_t *value),             \
      (object, key, value))                                                                    \
    X(size_t, json_object_size, (const json_t *object), (object))                              \
    X(json_t *, json_string, (const char *value), (value))                                     \
    X(size_t, json_string_length, (const json_t *string), (string))                            \
    X(const char *, json_string_value, (const json_t *string), (string))                       \
    X(json_t *, json_true, (void), ())                                                         \
    X(json_t *, json_vpack_ex, (json_error_t * error, size_t flags, const char *fmt, va_list ap), \
      (error, flags, fmt, ap))                                                                 \
    X(int, json_vunpack_ex,                                                                    \
      (json_t * root, json_error_t * error, size_t flags, const char *fmt, va_list ap),        \
      (root, error, flags, fmt, ap))

CS_LAZY_DEFINE(cs_lazy_jansson, CS_SONAME_JANSSON, JANSSON_FUNCTIONS)

/* The two variadic functions, as jansson defines them. */
__attribute__((visibility("hidden"))) json_t *json_pack(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *value = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    return value;
}

__attribute__((visibility("hidden"))) int json_unpack_ex(json_t *root, json_error_t *error,
                                                         size_t flags, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = json_vunpack_ex(root, error, flags, fmt, ap);
    va_end(ap);
    return rc;
}
