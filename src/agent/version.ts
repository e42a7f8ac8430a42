/** The package version, printed by `kube-router --version`. */
export const VERSION = "0.1.0";
