// Types of pg-procs.mjs, for the TypeScript test helpers that import it.
export declare function pgBin(): string;
export declare function pgExec(cmd: string, args: string[], logFile?: string): Promise<void>;
export declare function initPgCluster(
  prefix: string,
  extra?: string[],
): Promise<{ dir: string; data: string; sock: string }>;
