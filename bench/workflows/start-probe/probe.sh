echo started
for f in /data/in/*.tif; do cp "$f" /data/out/; done
