#!/usr/bin/env node
// The `knock` command: runs the TypeScript CLI through tsx's loader (no build step for operators).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
