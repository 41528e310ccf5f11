/* Private to src/store: what a storage back end implements, and the
 * registry that picks one by the scheme of the instance's store URL. The
 * public functions of store.h check their arguments and dispatch here; the
 * meaning of each operation is documented there.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_STORE_BACKEND_H
#define BIA_STORE_BACKEND_H

#include "store/store.h"

struct bia_store_ops {
	const char *scheme; /* URL scheme: "sqlite", "postgresql" */
	/* Make the store of a new instance at `location`; *out gets the
	 * location to record in its config ("scheme:" and the rest). NULL:
	 * open() makes it. */
	int (*create)(struct bia_ctx *ctx, const char *location, char *out, size_t outsz);
	/* Notifications of run events (NULL: the back end has none). */
	int (*listen)(struct bia_ctx *ctx, struct bia_instance *inst,
		      struct bia_store_listener **pl);
	int (*listener_fd)(const struct bia_store_listener *l);
	int (*listener_drain)(struct bia_store_listener *l);
	void (*listener_close)(struct bia_store_listener *l);
	/* Open the store at `location` (the URL after "scheme:"), apply the
	 * migrations; the shared state goes to inst->db. */
	int (*open)(struct bia_ctx *ctx, struct bia_instance *inst, const char *location);
	void (*close)(struct bia_instance *inst);
	int (*schema_version)(struct bia_ctx *ctx, struct bia_instance *inst, int *pver);
	/* A transaction of the calling thread's connection; nests. */
	int (*begin)(struct bia_ctx *ctx, struct bia_instance *inst);
	int (*commit)(struct bia_ctx *ctx, struct bia_instance *inst);
	void (*rollback)(struct bia_instance *inst);
	/* Connections held by threads of this process (1: only the caller). */
	unsigned (*connections_in_use)(struct bia_instance *inst);

	int (*problem_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_problem *p);
	/* By name (name != NULL) or id. */
	int (*problem_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			   int64_t id, struct bia_problem *p);
	int (*problem_list)(struct bia_ctx *ctx, struct bia_instance *inst,
			    const struct bia_viewer *viewer, struct bia_page page,
			    struct bia_problem **pv, size_t *pn, int64_t *ptotal);
	int (*problem_set_private)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				   int private_);
	int (*problem_member_set)(struct bia_ctx *ctx, struct bia_instance *inst,
				  int64_t problem_id, int64_t user_id, int member);
	/* what 0: is private; 1: is user a member; 2: visible to (restricted, user) */
	int (*problem_flags)(struct bia_ctx *ctx, struct bia_instance *inst, int what,
			     int64_t problem_id, int64_t user_id, int restricted, int *pout);

	int (*user_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_user *u,
			const char *pwhash);
	/* By name (name != NULL) or id; fills u->pwhash. */
	int (*user_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			int64_t id, struct bia_user *u);
	int (*user_list)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
			 struct bia_user **pv, size_t *pn, int64_t *ptotal);
	int (*user_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
	/* Set the password hash (pwhash != NULL) or else the role. */
	int (*user_set)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			const char *pwhash, const char *role);
	int (*token_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_token *t,
			 const char *hash);
	int (*token_find)(struct bia_ctx *ctx, struct bia_instance *inst, const char *hash,
			  int64_t now, struct bia_token *t);
	int (*token_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t user_id,
			  const char *kind, struct bia_token **pv, size_t *pn);
	/* Remove token id, or (id 0) the expired ones at `now`. */
	int (*token_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int64_t now,
			size_t *pn);
	int (*source_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_source *s);
	/* By name (name != NULL) or id. */
	int (*source_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			  int64_t id, struct bia_wf_source *s);
	int (*source_list)(struct bia_ctx *ctx, struct bia_instance *inst,
			   struct bia_wf_source **pv, size_t *pn);
	int (*source_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
	int (*source_tags)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			   struct bia_wf_source_tag **pv, size_t *pn);
	int (*source_synced)(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_wf_source *s, const struct bia_wf_source_tag *tags,
			     size_t n);
	int (*problem_set_main_metric)(struct bia_ctx *ctx, struct bia_instance *inst,
				       int64_t id, const char *metric);
	/* Removals return the digests no row references any more (the caller
	 * unlinks them after the commit, when no writer is active). */
	int (*problem_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	int (*image_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
			char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	int (*gt_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id,
		     int force, char (**pdigests)[BIA_SHA256_HEX], size_t *pn);

	int (*import)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		      struct bia_import_item *items, size_t n);
	int (*image_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			  struct bia_page page, struct bia_image_rec **pv, size_t *pn,
			  int64_t *ptotal);
	/* By id (stem NULL) or by problem + stem. */
	int (*image_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 int64_t problem_id, const char *stem, struct bia_image_rec *out);
	int (*gt_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		       struct bia_gt_version **pv, size_t *pn);

	int (*layers)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		      int vectors, struct bia_layer **pv, size_t *pn);
	int (*blob_refs)(struct bia_ctx *ctx, struct bia_instance *inst,
			 char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	/* Delete the rows of `blobs` that nothing references; *pn = how many. */
	int (*blob_rows_gc)(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn);
	/* Integrity check of the database itself. */
	int (*check)(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		     size_t reportsz);

	int (*wf_version_add)(struct bia_ctx *ctx, struct bia_instance *inst,
			      struct bia_wf_version *v, int *pexisted);
	int (*wf_version_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			      const char *version, struct bia_wf_version *out);
	int (*wf_list)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		       struct bia_wf_version **pv, size_t *pn, int64_t *ptotal);

	int (*run_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r);
	int (*run_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		       struct bia_run *out);
	int (*run_list)(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_run_filter *f, struct bia_page page, struct bia_run **pv,
			size_t *pn, int64_t *ptotal);
	int (*run_next_queued)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t *pid);
	int (*run_update)(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
			  const char *from, int *pdone);
	int (*run_clear_results)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
	int (*run_summary_put)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       const char *means);
	int (*run_set_verdict)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			       const char *verdict, const char *detail);
	int (*run_image_put)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			     const struct bia_run_image *ri);
	int (*run_rescore_put)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       const struct bia_run_image *ri);
	int (*run_images)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  struct bia_run_image **pv, size_t *pn);
	int (*run_values)(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *run_ids,
			  size_t nruns, const char *const *metrics, size_t nmetrics,
			  struct bia_run_value **pv, size_t *pn);
	int (*run_events)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  int64_t after, int64_t limit, struct bia_run_event_rec **pv, size_t *pn);
	int (*run_errors_query)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
				int64_t problem_id, const char *category, int64_t limit,
				struct bia_run_error_row **pv, size_t *pn);
	int (*run_objects_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       int64_t image_id, struct bia_run_object **pv, size_t *pn);
};

extern const struct bia_store_ops bia__store_sqlite;
extern const struct bia_store_ops bia__store_pg;

/* The back end of a store URL's scheme ("sqlite:biaflows.db" -> SQLite);
 * *plocation gets the rest. NULL (BIA_EUNSUPPORTED named on ctx) if none. */
const struct bia_store_ops *bia__store_backend(struct bia_ctx *ctx, const char *url,
					       const char **plocation);

#endif
