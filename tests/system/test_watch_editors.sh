#!/usr/bin/env bash
# Each editor's save pattern yields exactly one modification of the file
# (swap files, backups, 4913 and temp files never show), and a save of
# identical bytes, a touch, or an edit undone before it settles yields
# nothing.
. "$(dirname "$0")/lib.sh"
dw_init weditors
exec python3 - "$T" <<'PY'
import os, shutil, sys
sys.path.insert(0, os.path.join(os.environ["DEVWATCH_SRC"], "tests/system"))
from watchlib import Watch, sh, write, run

root = os.path.join(sys.argv[1], "tree")
os.makedirs(root)
f = os.path.join(root, "page.html")
write(f, "one\n")
other = os.path.join(sys.argv[1], "outside")
os.makedirs(other)

def main():
    w = Watch(root)
    vim = "vim.tiny -N -u NONE -i NONE -es -c 'set swapfile' %s -c 'normal Go%s' -c wq page.html"
    w.expect("vim, default settings", lambda: sh(vim % ("", "vim default"), root), modified=["page.html"])
    w.expect("vim, backupcopy=yes", lambda: sh(vim % ("-c 'set backupcopy=yes'", "vim yes"), root), modified=["page.html"])
    w.expect("vim, backupcopy=no + backup", lambda: sh(vim % ("-c 'set backupcopy=no backup'", "vim no"), root), modified=["page.html"])
    w.expect("temp file + rename", lambda: sh("printf 'tmp\\n' > .page.html.tmp123 && mv .page.html.tmp123 page.html", root), modified=["page.html"])
    w.expect("sed -i", lambda: sh("sed -i s/tmp/sed/ page.html", root), modified=["page.html"])
    write(os.path.join(other, "page.html"), "from cp\n")
    w.expect("cp over", lambda: sh("cp %s/page.html page.html" % other, root), modified=["page.html"])
    write(os.path.join(other, "page.html"), "from rsync\n")
    w.expect("rsync", lambda: sh("rsync %s/page.html page.html" % other, root), modified=["page.html"])
    write(os.path.join(other, "page.html"), "from rsync --inplace\n")
    w.expect("rsync --inplace", lambda: sh("rsync --inplace %s/page.html page.html" % other, root), modified=["page.html"])
    write(os.path.join(root, "new.html"), "moved\n")
    w.expect("mv over", lambda: sh("mv new.html page.html", root), modified=["page.html"])
    w.expect("jetbrains safe write", lambda: sh("printf 'jb\\n' > page.html___jb_tmp___ && mv page.html page.html___jb_old___ && mv page.html___jb_tmp___ page.html && rm page.html___jb_old___", root), modified=["page.html"])
    w.expect("emacs lock and backup", lambda: sh("ln -s x .#page.html; printf 'emacs\\n' > page.html; cp page.html page.html~; rm .#page.html", root), modified=["page.html"])
    data = open(f).read()
    w.nothing("identical re-save", lambda: write(f, data))
    w.nothing("touch", lambda: sh("touch page.html", root))
    w.nothing("edit undone before it settles", lambda: sh("printf 'other\\n' > page.html; printf '%s' > page.html" % data.replace("\n", "\\n"), root))
    w.nothing("vim :w without changes", lambda: sh("vim.tiny -N -u NONE -i NONE -es -c w -c q page.html", root))
    w.close()

run(main)
PY
