def greeting(message):
    return "%s from the devwatch service" % message
