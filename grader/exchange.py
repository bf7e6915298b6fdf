"""nbgrader collect for a shared machine: only real folders owned by the student they name, no symlinks.

Stock ExchangeCollect (nbgrader/exchange/default/collect.py) only warns when the owner differs
(lines 97-108), so `nbgrader submit --student=<victim>` replaces the victim's latest submission;
and it copies with shutil.copytree, which follows symlinks (exchange.py:100), so a student can drop
`<me>+<assignment>+<timestamp>+x -> /path/to/course/source/<assignment>` into inbound (or a symlink
inside their own 0777 submission folder) and have the instructor's account copy files the student
cannot read into submitted/.
Enable with:  c.ExchangeFactory.collect = "grader.exchange.OwnerCheckedCollect"
"""

import glob
import os
import pwd
import shutil

from nbgrader.exchange.default import ExchangeCollect
from nbgrader.exchange.default.collect import groupby
from nbgrader.utils import ignore_patterns


class OwnerCheckedCollect(ExchangeCollect):
    def _acceptable(self, path, username):
        try:
            st = os.lstat(path)
            owner = pwd.getpwuid(st.st_uid).pw_name
        except (KeyError, OSError):
            owner = None
        if os.path.islink(path) or not os.path.isdir(path):
            self.log.error("Not collecting %s: not a real folder", os.path.basename(path))
            return False
        if owner != username:
            self.log.error("Not collecting %s: it names %s but is owned by %s", os.path.basename(path), username, owner)
            return False
        return True

    def init_src(self):
        super().init_src()  # stock checks (course, permissions, due date); records recomputed below
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(self.inbound_path, "{}+{}+*".format(student_id, self.coursedir.assignment_id))
        records = [r for r in (self._path_to_record(p) for p in glob.glob(pattern))
                   if self._acceptable(os.path.join(self.inbound_path, r["filename"]), r["username"])]
        self.src_records = []
        for group in groupby(records, lambda item: item["username"]).values():
            group = self._sort_by_timestamp(group)
            if self.duedate is not None and self.before_duedate:
                group = [r for r in group if r["timestamp"] <= self.duedate] or group
            self.src_records.append(group[0])

    def do_copy(self, src, dest, log=None):
        """Like Exchange.do_copy, but symlinks are never followed and never copied."""
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError("Directory size is too big")
        base = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                               max_file_size=self.coursedir.max_file_size, log=self.log)

        def ignore(directory, names):
            skipped = set(base(directory, names))
            for name in names:
                if os.path.islink(os.path.join(directory, name)):
                    self.log.warning("Skipping symlink %s", os.path.join(directory, name))
                    skipped.add(name)
            return skipped

        shutil.copytree(src, dest, symlinks=True, ignore=ignore)
        for dirpath, dirnames, filenames in os.walk(dest):  # a link swapped in during the copy
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    os.unlink(path)
