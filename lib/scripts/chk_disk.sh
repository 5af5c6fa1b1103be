# Health matrix, disk column: how much the registry's storage path holds
# and how full its file system is.
# Set before this text: STORAGE.
set -u
[ -d "$STORAGE" ] || { echo "storage path $STORAGE does not exist"; exit 1; }
used=$(du -sh -- "$STORAGE" 2>/dev/null | cut -f1)
df=$(df -h --output=avail,pcent -- "$STORAGE" | tail -n 1 | awk '{ print $1 " free (" $2 " used)" }')
echo "$used in $STORAGE; file system: $df"
