"""Correct, and the folder holds links to course, grader and system files, a hard link to the master
notebook, a FIFO, a device, an oversized file, too many files, active web content, a name with a
terminal escape and an unreadable timestamp: all moved aside with reasons, none followed."""
# mutate: link notes.txt config
# mutate: link passwd.csv /etc/passwd
# mutate: link grades.json gradebook
# mutate: link alice.py other-student
# mutate: hardlink copy.ipynb master
# mutate: fifo pipe.txt
# mutate: device zero.txt
# mutate: big-file data.npy 11
# mutate: many-files 205
# mutate: odd-name
# mutate: timestamp the day before the deadline
# expect-note: notes.txt (a symbolic link
# expect-note: copy.ipynb (a hard link
# expect-note: pipe.txt (not a regular file
# expect-note: data.npy (11.0 MB, over the 10 MB limit
# expect-note: more than 200 files
# expect-note: page.html (not a file type
# expect-note: [31mred
# expect-note: timestamp.txt (not a timestamp

# %% file:page.html
<script>window.__xss = "student page.html";</script>

# %% file:pic.svg
<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss='student svg'"></svg>
