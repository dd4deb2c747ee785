package spool

// sysCopyFileRange is copy_file_range's number here (the syscall package lacks it).
const sysCopyFileRange = 285
