/* Validations per second through the ACME validation worker, against
 * pebble-challtestsrv's responders (bench/acme_validate.sh starts it), and
 * the floor it is compared with: the same http-01 GET done by a bare
 * libcurl loop on one thread, a new connection each time, as the validator
 * makes.
 *
 *   acme_validate_bench MODE N WORKERS HTTP_PORT TLS_PORT DNS
 *
 * MODE: http-01, tls-alpn-01, dns-01 (N submitted at once to WORKERS
 * threads: rate; then 200 one after another: latency p50/p99), or
 * http-floor (N sequential GETs with libcurl alone). Names are
 * bench.test (resolved by the rule *.test=127.0.0.1), token "bench-token"
 * with key authorization "bench-token.THUMB"; the script registers them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

#include "acme_validate.h"

#define TOKEN "bench-token"
#define KEY_AUTHORIZATION "bench-token.THUMB"
#define LATENCY_RUNS 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int finished, failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_done(void *arg, const char *problem, const char *detail)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    finished++;
    if (problem) {
        if (failed++ == 0)
            fprintf(stderr, "first failure: %s: %s\n", problem, detail);
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void wait_finished(int n)
{
    pthread_mutex_lock(&lock);
    while (finished < n)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
    (void)p, (void)arg;
    return s * n;
}

static int floor_run(int n, int http_port)
{
    char url[256];
    double t0;
    int i, bad = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/.well-known/acme-challenge/" TOKEN,
             http_port);
    curl_global_init(CURL_GLOBAL_ALL);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        CURL *e = curl_easy_init();
        long status = 0;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(e) != CURLE_OK ||
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            bad++;
        curl_easy_cleanup(e);
    }
    printf("http-floor  workers=1  n=%d  %.3f s  %.0f/s  failed=%d\n", n, now_s() - t0,
           n / (now_s() - t0), bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const char *rules[] = {"*.test=127.0.0.1"};
    cs_validator_config c;
    cs_validator *v = NULL;
    cs_err err;
    cs_challenge_type type;
    double t0, secs, lat[LATENCY_RUNS];
    struct rusage ru;
    int n, i, rc;

    if (argc != 7) {
        fprintf(stderr, "usage: %s MODE N WORKERS HTTP_PORT TLS_PORT DNS\n", argv[0]);
        return 2;
    }
    n = atoi(argv[2]);
    if (strcmp(argv[1], "http-floor") == 0)
        return floor_run(n, atoi(argv[4]));
    rc = cs_challenge_type_parse(argv[1]);
    if (rc < 0) {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    type = (cs_challenge_type)rc;
    memset(&c, 0, sizeof c);
    c.workers = atoi(argv[3]);
    c.http_port = atoi(argv[4]);
    c.tls_port = atoi(argv[5]);
    c.dns_resolver = argv[6];
    c.resolve = rules;
    c.resolve_len = 1;
    c.queue_max = n + 1;
    if (cs_validator_start(&c, &v, &err) != CS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t0 = now_s();
    for (i = 0; i < n; i++)
        if (cs_validator_submit(v, type, "bench.test", TOKEN, KEY_AUTHORIZATION, on_done, NULL,
                                &err) != CS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    wait_finished(n);
    secs = now_s() - t0;
    for (i = 0; i < LATENCY_RUNS; i++) {
        double s = now_s();
        if (cs_validator_submit(v, type, "bench.test", TOKEN, KEY_AUTHORIZATION, on_done, NULL,
                                &err) != CS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        wait_finished(n + i + 1);
        lat[i] = (now_s() - s) * 1000;
    }
    qsort(lat, LATENCY_RUNS, sizeof lat[0], cmp_double);
    cs_validator_stop(v);
    getrusage(RUSAGE_SELF, &ru);
    printf("%-11s workers=%d  n=%d  %.3f s  %.0f/s  one at a time: p50 %.2f ms  p99 %.2f ms  "
           "maxrss %.1f MB  failed=%d\n",
           argv[1], c.workers, n, secs, n / secs, lat[LATENCY_RUNS / 2],
           lat[LATENCY_RUNS * 99 / 100], ru.ru_maxrss / 1024.0, failed);
    return failed ? 1 : 0;
}
