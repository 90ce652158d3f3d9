// Placeholder entry; the CLI helper replaces this with the commander program.
process.stdout.write('moor\n');
