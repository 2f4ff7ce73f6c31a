/** Types of scripts/temporal-toolchain.cjs. */
export declare const TEMPORAL_CLI_VERSION: string;
export declare const TEMPORAL_TEST_SERVER_VERSION: string;
export interface ToolchainTarget {
  dir: string;
  packages: string[];
}
export declare function isInstalledPackage(root: string): boolean;
export declare function userCacheDir(env?: NodeJS.ProcessEnv): string;
export declare function toolchainTarget(root: string, env?: NodeJS.ProcessEnv): ToolchainTarget;
export declare function targetBinaries(target: ToolchainTarget): string[];
export declare function isTargetInstalled(target: ToolchainTarget): boolean;
export declare function isExecutable(file: string): boolean;
export declare function pipInstall(target: ToolchainTarget): Promise<{ ok: boolean; output: string }>;
