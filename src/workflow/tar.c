/* A workflow version from a tar archive of its folder (what the API's
 * upload receives): unpacked safely into a private folder (regular files
 * and folders only; no absolute paths, no "..", no links; the registry's
 * limits on files and bytes), then added as a folder.
 * SPDX-License-Identifier: MIT */
#include "workflow/wf_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bia_tar_unpack(struct bia_ctx *ctx, const char *tar, const char *dir, size_t max_files,
		   uint64_t max_bytes)
{
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	if (!a || !w) {
		archive_read_free(a);
		archive_write_free(w);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_none(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						  ARCHIVE_EXTRACT_NO_OVERWRITE);
	/* names are checked (relative, no "..") before they are joined to dir */
	int rc = 0;
	if (archive_read_open_filename(a, tar, 1 << 16) != ARCHIVE_OK) {
		rc = bia_fail(ctx, BIA_EFORMAT, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	size_t files = 0;
	uint64_t bytes = 0;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char name[1024];
		const char *nm = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		snprintf(name, sizeof(name), "%s", nm ? nm : "");
		if (!*name || (nm && strlen(nm) >= sizeof(name))) {
			rc = bia_fail(ctx, BIA_EFORMAT, "an archive member without a name");
			goto out;
		}
		if (bia_path_check_rel(ctx, name)) {
			rc = bia_fail(ctx, BIA_EPERM, "archive member '%s': %s", name, ctx->msg);
			goto out;
		}
		if (type != AE_IFREG && type != AE_IFDIR) {
			rc = bia_fail(ctx, BIA_EPERM,
				      "archive member '%s' is not a file or folder (links and "
				      "devices are refused)",
				      name);
			goto out;
		}
		if (archive_entry_hardlink(e) || archive_entry_symlink(e)) {
			rc = bia_fail(ctx, BIA_EPERM, "archive member '%s' is a link", name);
			goto out;
		}
		if (type == AE_IFREG) {
			files++;
			bytes += (uint64_t)archive_entry_size(e);
			if (files > max_files || bytes > max_bytes) {
				rc = bia_fail(ctx, BIA_ELIMIT,
					      "the archive has more than %zu files or %llu bytes",
					      max_files, (unsigned long long)max_bytes);
				goto out;
			}
		}
		char full[BIA_PATH_MAX];
		if (bia_path_join(ctx, full, sizeof(full), dir, name)) {
			rc = ctx->rc;
			goto out;
		}
		archive_entry_set_pathname(e, full);
		archive_entry_set_perm(e, type == AE_IFDIR ? 0755
							  : (archive_entry_perm(e) & 0111 ? 0755 : 0644));
		archive_entry_set_uid(e, getuid());
		archive_entry_set_gid(e, getgid());
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			rc = bia_fail(ctx, BIA_EPERM, "archive member '%s': %s", name,
				      archive_error_string(w));
			goto out;
		}
		if (type == AE_IFREG) {
			const void *buf;
			size_t len;
			la_int64_t off;
			uint64_t seen = 0;
			while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
				seen += len;
				if (seen > (uint64_t)archive_entry_size(e) ||
				    archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
					rc = bia_fail(ctx, BIA_EFORMAT, "archive member '%s' is damaged",
						      name);
					goto out;
				}
			}
			if (r != ARCHIVE_EOF) {
				rc = bia_fail(ctx, BIA_EFORMAT, "archive member '%s': %s", name,
					      archive_error_string(a));
				goto out;
			}
		}
		archive_write_finish_entry(w);
	}
	if (r != ARCHIVE_EOF)
		rc = bia_fail(ctx, BIA_EFORMAT, "damaged tar archive: %s", archive_error_string(a));
	else if (!files)
		rc = bia_fail(ctx, BIA_EFORMAT, "the archive has no files");
out:
	archive_read_free(a);
	archive_write_free(w);
	return rc;
}

int bia_workflow_add_tar(struct bia_ctx *ctx, struct bia_instance *inst, const char *tar,
			 const char *dir, const struct bia_wf_add_opts *o,
			 struct bia_wf_added *out)
{
	if (mkdir(dir, 0700))
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", dir, strerror(errno));
	size_t max_files = o->max_files ? o->max_files : BIA_WF_MAX_FILES;
	uint64_t max_bytes = o->max_total_bytes ? o->max_total_bytes : BIA_WF_MAX_TOTAL_BYTES;
	int rc = bia_tar_unpack(ctx, tar, dir, max_files, max_bytes);
	if (!rc) {
		/* one top folder holding descriptor.json: that folder */
		char root[BIA_PATH_MAX], d[BIA_PATH_MAX + 32];
		snprintf(root, sizeof(root), "%s", dir);
		snprintf(d, sizeof(d), "%s/descriptor.json", dir);
		if (access(d, F_OK)) {
			DIR *dh = opendir(dir);
			struct dirent *de;
			int n = 0;
			char only[256] = "";
			while (dh && (de = readdir(dh))) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				n++;
				snprintf(only, sizeof(only), "%s", de->d_name);
			}
			if (dh)
				closedir(dh);
			if (n == 1)
				snprintf(root, sizeof(root), "%s/%s", dir, only);
		}
		rc = bia_workflow_add_folder(ctx, inst, root, o, out);
		if (!rc && out->rc)
			rc = bia_fail(ctx, (enum bia_rc)out->rc, "%s", out->msg);
	}
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	bia_rm_rf(&tmp, dir);
	return rc;
}
