// placeholder: replaced by the reference backend
