/* Citizens' local-DP reports at the core: `ward --node X import TABLE FILE
 * --ldp-reports ...` and `ward --node X ldp-estimate TABLE` arrive over
 * the control socket like every other command, so the node stays the
 * only writer of its database. A report file is one short line per
 * citizen; it is imported on the loop, in one transaction with its audit
 * entry (store_ldp.h checks every line first). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "core_internal.h"
#include "error.h"
#include "import_job.h"
#include "ldp.h"
#include "ldp_report.h"
#include "store_ldp.h"

void core_ldp_import(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                     const Ward__Control__LdpImportRequest *req, uint64_t now) {
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    ward_ldp_mech mech;
    if (ward_ldp_mech_parse(&mech, req->mech) != WARD_OK) {
        core_reply_error(c, out, client, id, WARD_EINVAL, "--ldp-reports must be rr, oue or olh");
        return;
    }
    ward_import_options opt;
    Ward__Control__ImportRequest ir;
    ward__control__import_request__init(&ir);
    ir.sensitivity = req->sensitivity;
    ward_import_options_from_request(&opt, &ir, (int64_t)now);
    ward_import_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = ward_store_begin(c->store);
    if (rc == WARD_OK)
        rc = ward_store_ldp_import(c->store, &rep, req->table, req->path, mech, req->epsilon,
                                   req->domain, opt.sensitivity, (int64_t)now);
    else
        snprintf(rep.message, sizeof rep.message, "database: %s", ward_store_errmsg(c->store));
    if (rc == WARD_OK) {
        char details[400];
        snprintf(details, sizeof details,
                 "{\"table\":\"%s\",\"rows\":%" PRIu64 ",\"created\":%s,\"ldp\":{\"mech\":\"%s\","
                 "\"epsilon\":%.17g,\"domain\":%" PRIu32 "}}",
                 req->table, rep.rows_imported, rep.created ? "true" : "false",
                 ward_ldp_mech_name(mech), req->epsilon, req->domain);
        rc = ward_audit_append(c->store, NULL, NULL, (int64_t)now, "import", "", details);
        if (rc != WARD_OK)
            snprintf(rep.message, sizeof rep.message,
                     "recording the import in the audit log failed: %s", ward_store_errmsg(c->store));
        if (rc == WARD_OK) rc = ward_store_commit(c->store);
        if (rc != WARD_OK && !rep.message[0])
            snprintf(rep.message, sizeof rep.message, "database: %s", ward_store_errmsg(c->store));
    }
    if (rc != WARD_OK && ward_store_in_transaction(c->store)) (void)ward_store_rollback(c->store);
    if (rc != WARD_OK) {
        if (rep.error_count > 0 && rep.errors[0].line > 0)
            core_reply_error(c, out, client, id, rc, "%s:%" PRIu64 ": %s (%" PRIu64 " error%s; nothing imported)",
                             req->path, rep.errors[0].line, rep.errors[0].reason, rep.error_count,
                             rep.error_count == 1 ? "" : "s");
        else
            core_reply_error(c, out, client, id, rc, "%s; nothing imported",
                             rep.message[0] ? rep.message : ward_strerror(rc));
        return;
    }
    core_log(c, out, WARD_LOG_INFO, "imported %" PRIu64 " local-DP reports into table %s",
             rep.rows_imported, req->table);
    Ward__Control__LdpImportResult res;
    ward__control__ldp_import_result__init(&res);
    res.table = req->table;
    res.rows = rep.rows_imported;
    res.rows_total = rep.rows_total;
    res.created = rep.created;
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.result_case = WARD__CONTROL__RESPONSE__RESULT_LDP_IMPORT;
    r.ldp_import = &res;
    core_reply(c, out, client, &r);
}

void core_ldp_estimate(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                       const Ward__Control__LdpEstimateRequest *req) {
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    ward_ldp_table_info info;
    int rc = ward_store_ldp_info(c->store, &info, req->table);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, id, rc, "%s", ward_store_errmsg(c->store));
        return;
    }
    uint64_t *counts = calloc(info.domain, sizeof *counts);
    double *est = calloc(info.domain, sizeof *est);
    double *sd = calloc(info.domain, sizeof *sd);
    ward_ldp_est e;
    double var = 0.0;
    rc = counts && est && sd ? WARD_OK : WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_ldp_est_init(&e, counts, info.domain, info.mech, info.epsilon);
    if (rc == WARD_OK) rc = ward_store_ldp_counts(c->store, &e, req->table);
    if (rc == WARD_OK) rc = ward_ldp_est_finish(&e, est, info.domain);
    if (rc == WARD_OK) rc = ward_ldp_variance(&var, info.mech, info.epsilon, info.domain, e.n);
    /* Each value's own standard deviation: the exact variance at its
     * estimated count, clipped to [0, n] (a plug-in estimate). */
    for (uint32_t v = 0; rc == WARD_OK && v < info.domain; v++) {
        double f = est[v] < 0 ? 0 : est[v] > (double)e.n ? (double)e.n : est[v], vv;
        rc = ward_ldp_variance_at(&vv, info.mech, info.epsilon, info.domain, e.n, f);
        sd[v] = rc == WARD_OK ? sqrt(vv) : 0;
    }
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, id, rc, "%s: %s", req->table,
                         rc == WARD_EPARSE || rc == WARD_EIO ? ward_store_errmsg(c->store)
                                                             : ward_strerror(rc));
    } else {
        Ward__Control__LdpEstimateResult res;
        ward__control__ldp_estimate_result__init(&res);
        res.table = req->table;
        res.mech = (char *)ward_ldp_mech_name(info.mech);
        res.epsilon = info.epsilon;
        res.domain = info.domain;
        res.n = e.n;
        res.n_estimates = info.domain;
        res.estimates = est;
        res.n_stddev = info.domain;
        res.stddev = sd;
        res.variance = var;
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_LDP_ESTIMATE;
        r.ldp_estimate = &res;
        core_reply(c, out, client, &r);
    }
    free(counts);
    free(est);
    free(sd);
}
