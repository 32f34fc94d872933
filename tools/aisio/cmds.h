/* SPDX-License-Identifier: MIT */
/* Subcommands of the aisio tool; each returns the process exit status. */
#ifndef AISIO_TOOLS_CMDS_H
#define AISIO_TOOLS_CMDS_H

int aisio_cmd_dev(int argc, char **argv);      /* dev list | identify URI */
int aisio_cmd_perf(int argc, char **argv);     /* perf run | verify | cuda-run | cuda-verify */
int aisio_cmd_xfs(int argc, char **argv);      /* xfs ls | stat | bmap | find */
int aisio_cmd_extents(int argc, char **argv);  /* extents FILE (FIEMAP) */
int aisio_cmd_homi(int argc, char **argv);     /* homi status */
int aisio_cmd_fil(int argc, char **argv);      /* fil gen | run | ceiling */
int aisio_cmd_homi_export(int argc, char **argv); /* homi export|unexport */
struct aisio_homi_conn;
int homi_print_exports(struct aisio_homi_conn *c);

#endif
