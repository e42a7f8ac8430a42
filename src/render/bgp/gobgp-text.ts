/**
 * The `gobgp` CLI printers live in the model (model/bgp-text.ts) so the gobgp driver (apply)
 * prints its scripts with them too; re-exported here for the renderer's users.
 *
 * @category render
 */
export * from "../../model/bgp-text.ts";
