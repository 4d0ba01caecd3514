#!/bin/sh
# weights-progress DIR TOTAL_BYTES: bytes in DIR (finished and partial files) out of the total,
# printed by the play while a download runs (sparkops.llm.job_progress).
done_bytes=$(du -sb "$1" 2>/dev/null | cut -f1)
awk -v d="${done_bytes:-0}" -v t="$2" 'BEGIN {
  printf "%d of %d bytes on disk (%.0f%%, %.2f of %.2f GiB)\n", d, t, (t > 0 ? 100 * d / t : 0), d / 1073741824, t / 1073741824
}'
