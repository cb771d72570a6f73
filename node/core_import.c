/* `ward import` at the core: inline (the simulator, or a core without a
 * job runner), or in two steps (node/import_job.h): the driver stages the
 * file on a worker thread while the node goes on serving its peers, then
 * the core merges the staged rows in one transaction. Imports run one at a
 * time, in the order they were asked for; a client that goes away does
 * not stop its import. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "core_internal.h"
#include "error.h"
#include "import_job.h"

typedef struct import_wait {
    struct import_wait *next;
    uint64_t job, client, req_id;
    int started;
    Ward__Control__ImportRequest *req; /* unpacked copy; owned */
} import_wait;

static void options_of(ward_import_options *opt, const Ward__Control__ImportRequest *req,
                       uint64_t now) {
    memset(opt, 0, sizeof *opt);
    switch (req->sensitivity) {
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_HIGH: opt->sensitivity = WARD_SENSITIVITY_HIGH; break;
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_LOW: opt->sensitivity = WARD_SENSITIVITY_LOW; break;
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_MEDIUM:
        opt->sensitivity = WARD_SENSITIVITY_MEDIUM;
        break;
    default: opt->sensitivity = WARD_SENSITIVITY_DEFAULT; break;
    }
    opt->schema = req->schema && req->schema[0] ? req->schema : NULL;
    opt->now_ms = (int64_t)now;
}

void ward_import_options_from_request(ward_import_options *opt,
                                      const Ward__Control__ImportRequest *req, int64_t now_ms) {
    options_of(opt, req, (uint64_t)now_ms);
}

/* The audit record, the log line and the reply of a finished import. */
static void finish(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                   const char *table, const char *path, int rc, const ward_import_report *rep,
                   const char *fallback, uint64_t now) {
    if (rc != WARD_OK) {
        char msg[700];
        ward_import_error_text(msg, sizeof msg, rep, path, table, fallback);
        core_log(c, out, WARD_LOG_WARN, "import into %s refused: %s", table, msg);
        if (client) core_reply_error(c, out, client, id, rc, "%s", msg);
        return;
    }
    core_log(c, out, WARD_LOG_INFO, "imported %llu rows into table %s",
             (unsigned long long)rep->rows_imported, table);
    char details[600];
    snprintf(details, sizeof details, "{\"table\":\"%s\",\"rows\":%llu,\"created\":%s}", table,
             (unsigned long long)rep->rows_imported, rep->created ? "true" : "false");
    if (ward_audit_append(c->store, NULL, NULL, (int64_t)now, "import", "", details) != WARD_OK)
        core_log(c, out, WARD_LOG_ERROR, "audit append failed after importing %s", table);
    if (!client) return;
    ward_table_info t;
    Ward__Control__ImportResult res;
    ward__control__import_result__init(&res);
    res.table = (char *)table;
    res.rows = rep->rows_imported;
    Ward__Control__Column *cv = NULL;
    char (*ty)[16] = NULL;
    int have_info = ward_store_table_info(c->store, &t, table) == WARD_OK;
    if (have_info && core_fill_columns(&res.columns, &cv, &ty, &t) == WARD_OK)
        res.n_columns = t.ncolumns;
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.result_case = WARD__CONTROL__RESPONSE__RESULT_IMPORT_TABLE;
    r.import_table = &res;
    core_reply(c, out, client, &r);
    free(res.columns);
    free(cv);
    free(ty);
    if (have_info) ward_table_info_clear(&t);
}

static void start_next(ward_core *c, ward_actions *out, uint64_t now) {
    import_wait *w = c->imports;
    if (!w || w->started) return;
    Ward__Control__ImportJob job;
    ward__control__import_job__init(&job);
    job.request = w->req;
    job.now_ms = (int64_t)now;
    size_t len = ward__control__import_job__get_packed_size(&job);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf || core_push_job(out, w->job, buf, len) != WARD_OK) {
        if (buf) free(buf);
        c->imports = w->next;
        if (w->client) core_reply_error(c, out, w->client, w->req_id, WARD_ENOMEM, "out of memory");
        ward__control__import_request__free_unpacked(w->req, NULL);
        free(w);
        start_next(c, out, now);
        return;
    }
    ward__control__import_job__pack(&job, buf);
    w->started = 1;
}

void core_import_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                       const Ward__Control__ImportRequest *req, uint64_t now) {
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    if (!c->cfg.jobs) {
        ward_import_options opt;
        options_of(&opt, req, now);
        ward_import_report rep;
        int rc = ward_store_import(c->store, &rep, req->table, req->path, &opt);
        finish(c, out, client, id, req->table, req->path, rc, &rep, ward_store_errmsg(c->store), now);
        return;
    }
    /* A copy of the request outlives this event. */
    size_t len = ward__control__import_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    import_wait *w = calloc(1, sizeof *w);
    if (buf) ward__control__import_request__pack(req, buf);
    if (w && buf) w->req = ward__control__import_request__unpack(NULL, len, buf);
    free(buf);
    if (!w || !w->req) {
        free(w);
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        return;
    }
    w->job = ++c->next_job;
    w->client = client;
    w->req_id = id;
    import_wait **tail = &c->imports;
    while (*tail) tail = &(*tail)->next;
    *tail = w;
    start_next(c, out, now);
}

void core_import_done(ward_core *c, ward_actions *out, uint64_t job, const uint8_t *data,
                      size_t len, uint64_t now) {
    import_wait *w = c->imports;
    if (!w || w->job != job || !w->started) {
        core_log(c, out, WARD_LOG_ERROR, "a job ended that was not asked for (%llu)",
                 (unsigned long long)job);
        return;
    }
    c->imports = w->next;
    Ward__Control__ImportStaged *st = ward__control__import_staged__unpack(NULL, len, data);
    ward_import_report rep;
    memset(&rep, 0, sizeof rep);
    int rc;
    const char *fallback = "the staging step failed";
    if (!st) {
        rc = WARD_EPARSE;
        fallback = "malformed job result";
    } else if (st->error != 0) {
        rc = st->error;
        /* The stage's own words: the line and column of a bad value. */
        if (w->client) core_reply_error(c, out, w->client, w->req_id, rc, "%s", st->message);
        core_log(c, out, WARD_LOG_WARN, "import into %s refused: %s", w->req->table, st->message);
        ward__control__import_staged__free_unpacked(st, NULL);
        ward__control__import_request__free_unpacked(w->req, NULL);
        free(w);
        start_next(c, out, now);
        return;
    } else {
        ward_import_base base = {st->exists, st->base_rows, st->base_updated_ms};
        rc = ward_import_merge(c->store, &rep, st->staging, w->req->table, &base, (int64_t)now);
        fallback = ward_store_errmsg(c->store);
    }
    finish(c, out, w->client, w->req_id, w->req->table, w->req->path, rc, &rep, fallback, now);
    if (st) ward__control__import_staged__free_unpacked(st, NULL);
    ward__control__import_request__free_unpacked(w->req, NULL);
    free(w);
    start_next(c, out, now);
}

void core_import_client_closed(ward_core *c, uint64_t client) {
    for (import_wait *w = c->imports; w; w = w->next)
        if (w->client == client) w->client = 0;
}

void core_import_free_all(ward_core *c) {
    while (c->imports) {
        import_wait *w = c->imports;
        c->imports = w->next;
        ward__control__import_request__free_unpacked(w->req, NULL);
        free(w);
    }
}
