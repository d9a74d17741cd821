#!/bin/sh
# Makes the compressed and dialect inputs of InputFormatEndToEndTests from Examples/ (run from
# the repository root). The tests need none of these tools: the outputs are committed.
set -e
D=Tests/glmfitTests/Reference/input_formats
gzip -9 -n -c Examples/dietox.csv > $D/dietox.csv.gz
xz -9 -c Examples/dietox.csv > $D/dietox.csv.xz
zstd -q -19 -c Examples/dietox.csv > $D/dietox.csv.zst
bzip2 -9 -c Examples/dietox.csv > $D/dietox.csv.bz2
# Two gzip members, as `cat a.gz b.gz` makes: zcat reads them as one file.
head -n 400 Examples/dietox.csv | gzip -n -c > $D/dietox_members.csv.gz
tail -n +401 Examples/dietox.csv | gzip -n -c >> $D/dietox_members.csv.gz
# R's write.csv2 (';' between fields, decimal commas) and write.table with tabs.
Rscript -e 'cats <- read.csv("Examples/cats.csv"); write.csv2(cats, "'$D'/cats_csv2.csv", row.names = FALSE); write.table(cats, "'$D'/cats.tsv", sep = "\t", row.names = FALSE); sessionInfo()$R.version$version.string'
