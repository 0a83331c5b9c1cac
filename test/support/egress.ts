/**
 * The egress policy of a test: its loopback stand-ins (ephemeral ports) on the allowlist, and
 * nothing else on loopback, exactly as EGRESS_ALLOW works in a deployment.
 */
import type { EgressPolicy } from '../../lib/egress';

/** `host:port` of each base URL (a stand-in's `url`), as EGRESS_ALLOW spells it. */
export function allowStandIns(...baseUrls: string[]): EgressPolicy {
  return {
    allow: baseUrls.map((u) => {
      const url = new URL(u);
      return `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
    }),
  };
}
